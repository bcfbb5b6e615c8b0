"""``python -m gobuild_lambda``: the same as the ``gbl`` command."""

from .cli import main

if __name__ == "__main__":
    main()
