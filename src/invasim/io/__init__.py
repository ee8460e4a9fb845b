"""Run directories: writing whole files, reading runs back."""
