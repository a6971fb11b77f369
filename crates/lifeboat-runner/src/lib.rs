//! lifeboat-runner (in progress).
