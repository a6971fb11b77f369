//! Integration tests: drive the real `lifeboat` binary.
