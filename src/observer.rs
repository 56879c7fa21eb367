//! The observer pattern with async trait methods (in progress).
