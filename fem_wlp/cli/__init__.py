"""Command line: one module per subcommand, each with `add_args(parser)` and `run(args) -> exit code`."""
