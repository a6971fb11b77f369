//! SECURITY.md: see tests/hostile.rs.
