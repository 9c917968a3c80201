"""One plugin object per task kind: featurizer, collator flags, head, scorer and prediction writer in one place.

Each module defines a kind's class and its one instance; task declarations (``crossling.tasks.*``)
import the instance they need and hold it in ``TaskSpec.kind_plugin``. The contract is
``crossling.taskspec.KindPlugin`` / ``FineTunedKind``.
"""
