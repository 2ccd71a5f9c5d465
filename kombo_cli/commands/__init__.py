"""One module per command: each turns parsed options into calls to the core and the output."""
