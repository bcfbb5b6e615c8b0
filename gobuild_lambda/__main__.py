"""``python -m gobuild_lambda``: the same as the ``gbl`` command."""

import sys


def run() -> None:
    """Start the CLI; Ctrl-C or SIGTERM while it is still loading exits 130 without a traceback."""
    import signal

    def _interrupted(signum, frame):
        raise KeyboardInterrupt

    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, _interrupted)
    try:
        from .cli import main
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)  # errors.EXIT_INTERRUPTED
    main()


if __name__ == "__main__":
    run()
