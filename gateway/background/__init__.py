"""Background work: the outbox drain, retention and the audit sequencer, off the request path.

Two ways to run it, chosen by ``task_mode``:

* ``inprocess`` (the embedded default): :mod:`gateway.background.embedded` drains the outbox and
  runs the periodic jobs in a thread of each ``ketenpoort serve`` worker, beside the sequencer;
* ``celery``: :mod:`gateway.background.broker` defines the Celery application, its tasks and its
  beat schedule; ``celery -A gateway.background.worker:celery_app worker`` runs the tasks and
  ``celery -A gateway.background.beat:celery_app beat`` sends the periodic ones.

:mod:`gateway.background.start` has the one function each process kind calls.
"""
