use std::cell::RefCell;
use std::rc::Rc;

/// Anything that can run: a leaf, or a composite of steps.
pub trait Step {
    fn name(&self) -> &str;
    fn run(&self) -> Result<(), String>;
}

/// A leaf: one call (here, it writes its name into a shared log).
pub struct Leaf {
    pub name: String,
    pub log: Rc<RefCell<Vec<String>>>,
}

impl Step for Leaf {
    fn name(&self) -> &str {
        &self.name
    }
    fn run(&self) -> Result<(), String> {
        self.log.borrow_mut().push(self.name.clone());
        Ok(())
    }
}

/// The composite: children one after another; the first error stops it (`?`).
pub struct Sequence {
    pub name: String,
    pub steps: Vec<Box<dyn Step>>,
}

impl Step for Sequence {
    fn name(&self) -> &str {
        &self.name
    }
    fn run(&self) -> Result<(), String> {
        for step in &self.steps {
            step.run()?;
        }
        Ok(())
    }
}
