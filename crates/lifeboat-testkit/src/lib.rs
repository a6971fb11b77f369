//! lifeboat-testkit (in progress).
