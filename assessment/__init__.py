"""The assessment engine: specifications, evaluation and statement parsing — pure functions, no I/O."""
