"""Builds: the ``go build`` calls, one Runner protocol, a local and a Docker runner.

* ``calls``  - which ``go build`` runs: grouping, flags, environment (the one place);
* ``runner`` - the Runner protocol and what every runner shares: the thread pool, relink
  detection, failure attribution (a failed group is rebuilt one function at a time);
* ``local``  - starts ``go build`` on the host (through gotool) and streams its links;
* ``docker`` - runs the same ``go build`` in a golang container (the only module that talks to
  Docker).

Named ``builders``, not ``build``: a subpackage ``gobuild_lambda.build`` would replace the public
``gobuild_lambda.build()`` function as soon as it was imported.
"""

from . import calls, local, runner  # noqa: F401 - builders.calls, builders.local, builders.runner
from .runner import Built, BuildFailure, Runner, build

__all__ = ["Built", "BuildFailure", "Runner", "build"]
