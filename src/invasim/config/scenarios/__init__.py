"""Built-in scenarios, shipped as TOML files."""
