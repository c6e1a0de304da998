"""What Alertmanager would do with a label set, evaluated offline and purely: which routes
and receivers it reaches (`routes`) and which inhibit rules mute it (`inhibits`). Used by
the checks, `converge test` and the diff preview."""
