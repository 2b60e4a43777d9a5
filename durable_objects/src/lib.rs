//! Keel's Durable Objects: thin adapters that hold state in SQLite storage, perform I/O, and let
//! `keel-engine` decide everything else.
