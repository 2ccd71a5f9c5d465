"""`download_uri`: a URL as people write it, made the URI Kombo's `data_url` asks for."""

from __future__ import annotations

import pytest

from kombo_cli.redact import display_url
from kombo_cli.upload.content_types import content_type_from_url_name
from kombo_cli.upload.urls import UnusableUrl, download_uri, secrets_in


@pytest.mark.parametrize(
    ("url", "uri"),
    [
        # A URI already: every character stays, case and escapes included.
        ("https://files.example/cv.pdf", "https://files.example/cv.pdf"),
        (
            "https://Bucket.S3.example/a/Frank%20CV.pdf?X-Sig=ab%2Fcd%3d&e=1",
            "https://Bucket.S3.example/a/Frank%20CV.pdf?X-Sig=ab%2Fcd%3d&e=1",
        ),
        # Reserved characters in their places mean what they mean: kept.
        (
            "https://h.example/a;b=c/d:e@f!$'()*+,~?q=/a?b&c=d+e:f@g!$'()*,;",
            "https://h.example/a;b=c/d:e@f!$'()*+,~?q=/a?b&c=d+e:f@g!$'()*,;",
        ),
        # Unicode in the path and query: UTF-8, percent-encoded.
        ("https://h.example/lebenslauf_ä.pdf", "https://h.example/lebenslauf_%C3%A4.pdf"),
        ("https://h.example/履歴書.pdf", "https://h.example/%E5%B1%A5%E6%AD%B4%E6%9B%B8.pdf"),
        ("https://h.example/x.pdf?name=José", "https://h.example/x.pdf?name=Jos%C3%A9"),
        # Encoded and raw side by side: the escapes are not encoded again.
        (
            "https://h.example/%C3%A4ä%c3%a4.pdf",
            "https://h.example/%C3%A4%C3%A4%c3%a4.pdf",
        ),
        # A "%" that starts no escape is a per cent sign.
        (
            "https://h.example/100%.pdf?off=50%&x=%zz",
            "https://h.example/100%25.pdf?off=50%25&x=%25zz",
        ),
        ("https://h.example/%4.pdf", "https://h.example/%254.pdf"),
        # Spaces inside become %20 (not "+", which means a space only in forms).
        ("https://h.example/Frank CV.pdf?q=a b", "https://h.example/Frank%20CV.pdf?q=a%20b"),
        # Characters a URI never holds as they are.
        (
            'https://h.example/a"<>\\^`{|}[].pdf',
            "https://h.example/a%22%3C%3E%5C%5E%60%7B%7C%7D%5B%5D.pdf",
        ),
        # The fragment is never sent by an HTTP client: dropped.
        ("https://h.example/cv.pdf#page=2", "https://h.example/cv.pdf"),
        ("https://h.example/cv.pdf?sig=x#frag", "https://h.example/cv.pdf?sig=x"),
        ("https://h.example/cv.pdf?#frag", "https://h.example/cv.pdf?"),
        # Unicode host names: IDNA (UTS 46), as browsers and requests write them.
        ("https://bücher.example/cv.pdf", "https://xn--bcher-kva.example/cv.pdf"),
        ("https://BÜCHER.example/cv.pdf", "https://xn--bcher-kva.example/cv.pdf"),
        # Full-width letters and an ideographic full stop, as some keyboards type them.
        (
            "https://\uff42\u00fc\uff43her\u3002example/cv.pdf",
            "https://xn--bcher-kva.example/cv.pdf",
        ),
        ("https://faß.de/cv.pdf", "https://xn--fa-hia.de/cv.pdf"),
        ("https://xn--bcher-kva.example/cv.pdf", "https://xn--bcher-kva.example/cv.pdf"),
        # An ASCII label next to a Unicode one keeps its "_" (bucket names have them).
        ("https://my_bucket.bücher.example/a", "https://my_bucket.xn--bcher-kva.example/a"),
        ("https://my_bucket.s3.example/a", "https://my_bucket.s3.example/a"),
        # Ports, IP literals.
        ("https://bücher.example:8443/ä", "https://xn--bcher-kva.example:8443/%C3%A4"),
        ("http://[::1]:8080/ä.pdf", "http://[::1]:8080/%C3%A4.pdf"),
        ("http://[2001:db8::1]/x", "http://[2001:db8::1]/x"),
        ("http://192.0.2.7/x", "http://192.0.2.7/x"),
        ("https://h.example:/x", "https://h.example/x"),
        # No path at all is still a URI.
        ("https://h.example", "https://h.example"),
        ("HTTPS://h.example/x", "https://h.example/x"),
        # Spaces around it, as pasted.
        ("  https://h.example/x ", "https://h.example/x"),
    ],
)
def test_a_url_becomes_a_uri(url: str, uri: str) -> None:
    assert download_uri(url) == uri
    # Converting again changes nothing: nothing is ever encoded twice.
    assert download_uri(uri) == uri
    assert uri.isascii()


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://h.example/x", "is not an http or https URL with a host"),
        ("h.example/x", "is not an http or https URL with a host"),
        ("https:///x", "is not an http or https URL with a host"),
        ("https://", "is not an http or https URL with a host"),
        ("", "is not an http or https URL with a host"),
        ("https://h.example:99999/x", "is not an http or https URL with a host"),
        ("https://h.example:8o/x", "is not an http or https URL with a host"),
        ("http://[::1/x", "is not an http or https URL with a host"),
        ("http://[fe80::1%eth0]/x", "is not an http or https URL with a host"),
        ("http://[v1.x]/x", "is not an http or https URL with a host"),
        ("https://exa mple.com/x", "is not an http or https URL with a host"),
        ("https://h.example/a\tb", "is not an http or https URL with a host"),
        ("https://h.example/a\nb", "is not an http or https URL with a host"),
        ("https://h.example/a\x7fb", "is not an http or https URL with a host"),
        ("https://h.example/\udcff.pdf", "is not valid UTF-8 text"),
        ("https://frank:pw@h.example/x", "has a user name or password in it"),
        ("https://frank@h.example/x", "has a user name or password in it"),
        ("http://other\\@h.example/x", "has a user name or password in it"),
    ],
)
def test_a_url_kombo_cannot_download_from_is_refused(url: str, problem: str) -> None:
    with pytest.raises(UnusableUrl) as refused:
        download_uri(url)

    assert refused.value.problem == problem
    assert refused.value.hint
    assert "pw" not in refused.value.shown


@pytest.mark.parametrize(
    "host",
    ["☃.example", "-bücher.example", "bücher-.example", "bücher..example", "ü" * 64 + ".example"],
)
def test_a_host_idna_refuses_is_refused_saying_so(host: str) -> None:
    with pytest.raises(UnusableUrl) as refused:
        download_uri(f"https://{host}/cv.pdf?sig=SECRET")

    assert refused.value.problem.startswith("has a host name that IDNA cannot encode (")
    assert "punycode" in refused.value.hint
    # Named without its query.
    assert refused.value.shown == display_url(f"https://{host}/cv.pdf?sig=SECRET")
    assert "SECRET" not in refused.value.shown


def test_the_encoded_form_is_shown_without_its_query() -> None:
    uri = download_uri("https://bücher.example/ä.pdf?sig=GEHEIM+ä")

    assert display_url(uri) == "https://xn--bcher-kva.example/%C3%A4.pdf?…"
    assert display_url(download_uri("http://[::1]:8080/ä?sig=x")) == "http://[::1]:8080/%C3%A4?…"


def test_the_query_is_a_secret_as_given_and_as_sent() -> None:
    assert secrets_in("https://h.example/x?sig=GEHEIM ä") == [
        "sig=GEHEIM ä",
        "sig=GEHEIM%20%C3%A4",
    ]
    assert secrets_in("https://h.example/x?sig=plain") == ["sig=plain"]
    assert secrets_in("https://☃.example/x?sig=GEHEIM") == ["sig=GEHEIM"]


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("cv.pdf", "application/pdf"),
        ("CV.PDF", "application/pdf"),
        (
            "Frank CV.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        ("photo.jpeg", "image/jpeg"),
        ("notes.txt", "text/plain"),
        # Kombo's pattern refuses "+" types: none is sent, Kombo takes the download's.
        ("logo.svg", None),
        ("cv", None),
        ("", None),
        ("cv.unknownextension", None),
        # Generic types say nothing about the file.
        ("cv.bin", None),
    ],
)
def test_the_content_type_a_url_names(name: str, content_type: str | None) -> None:
    guess = content_type_from_url_name(name)

    assert (guess.content_type if guess else None) == content_type
    if guess is not None:
        assert guess.method == "extension"
