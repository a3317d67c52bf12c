"""The matching and correlation engine: pure and columnar, no database, web or command line."""
