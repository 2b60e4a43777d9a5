//! Keel edge Worker.
