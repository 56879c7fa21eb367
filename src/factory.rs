//! The factory pattern with async trait methods (in progress).
