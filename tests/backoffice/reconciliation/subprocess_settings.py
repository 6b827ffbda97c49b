"""Settings of a `reconcile` subprocess started by the tests: the suite's, with the scripted check."""

from backoffice.settings import *  # noqa: F403

BACKOFFICE_RECONCILIATION_CHECKS = ["tests.backoffice.reconciliation.fakes.ScriptedCheck"]
RECONCILIATION_PAGE_SIZE = 2
