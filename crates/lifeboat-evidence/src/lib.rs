//! lifeboat-evidence (in progress).
