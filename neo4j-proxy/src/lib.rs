//! neo4j-proxy: the only holder of Neo4j credentials.
