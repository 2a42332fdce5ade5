"""Assessment attempts: recorded one at a time, in bulk or from simulators, decided by the engine."""
