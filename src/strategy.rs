//! The strategy pattern with async trait methods (in progress).
