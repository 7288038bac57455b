"""OwnTrace recorder: capture your own work into a sealed session store, review, export."""

__version__ = "0.1.0"
