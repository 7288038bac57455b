"""Capture on X11: input listeners, the active-window watcher, the screen sampler, and the pure
rules between them (move coalescing, exclusion, the pause hotkey, delta frames)."""
