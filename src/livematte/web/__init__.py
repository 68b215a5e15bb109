"""The control page: a small web server inside the live run, its stream and its settings."""
