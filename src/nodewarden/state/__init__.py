"""What nodewarden keeps: one SQLite file under `--state-dir`, read and written only through this package.

`database` opens it (a writer that migrates, readers that never change it) and owns its schema; one module
per record family maps its rows: `steps` (episodes, intents and outcomes, holds), `evidence` (the signal
log, Activity Log changes), `node_health`, and `incidents` (the incident store). `journal.Journal` is the
one object callers hold. `cluster/` keeps the same record in custom resources (`nodewarden run --state
cluster`); `record.IncidentRecord` is what both incident stores offer. An adapter: the pure core never imports it.
"""

from nodewarden.state.database import FILE_NAME, JournalError
from nodewarden.state.incidents import IncidentStore
from nodewarden.state.journal import Journal
from nodewarden.state.record import IncidentRecord
from nodewarden.state.steps import correlation_id_for

__all__ = ["FILE_NAME", "IncidentRecord", "IncidentStore", "Journal", "JournalError", "correlation_id_for"]
