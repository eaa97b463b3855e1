"""fuseflow's IR definitions. Each dialect module appends its loader to
``fuseflow.context.DIALECT_LOADERS`` so that every fuseflow Context loads it exactly once."""

from fuseflow.dialects import sam  # noqa: F401  (registers the sam dialect loader)
