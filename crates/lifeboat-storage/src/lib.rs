//! lifeboat-storage (in progress).
