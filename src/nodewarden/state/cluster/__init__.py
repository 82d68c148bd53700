"""The record kept in the cluster: custom resources in group nodewarden.io (deploy/crds/), so any replica can
resume after the leader, its node or its zone dies. `resources.py` names them, `remediations.py` keeps the
episodes and their intents (NodeRemediation), `incidents.py` the incidents (Incident), and `journal.py` is the
Journal whose steps live in the cluster while the rest stays in the local state dir."""
