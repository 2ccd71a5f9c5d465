"""A local, strict implementation of the Kombo API for trying kombo and testing scripts."""
