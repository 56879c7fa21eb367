use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::future::join_all;

/// Anything that can run: a leaf, or a composite of steps.
#[async_trait]
pub trait Step: Send + Sync {
    fn name(&self) -> &str;
    async fn run(&self) -> Result<(), String>;
}

/// A leaf: one call (here, it writes its name into a shared log).
pub struct Leaf {
    pub name: String,
    pub log: Arc<Mutex<Vec<String>>>,
}

#[async_trait]
impl Step for Leaf {
    fn name(&self) -> &str {
        &self.name
    }
    async fn run(&self) -> Result<(), String> {
        let mut log = self.log.lock().map_err(|e| e.to_string())?;
        log.push(self.name.clone());
        Ok(())
    }
}

/// The composite: children one after another; the first error stops it (`?`).
pub struct Sequence {
    pub name: String,
    pub steps: Vec<Box<dyn Step>>,
}

#[async_trait]
impl Step for Sequence {
    fn name(&self) -> &str {
        &self.name
    }
    async fn run(&self) -> Result<(), String> {
        for step in &self.steps {
            step.run().await?;
        }
        Ok(())
    }
}

/// The node only async makes worth having: the same children, all at once (`join_all`).
pub struct Parallel(pub Sequence);

#[async_trait]
impl Step for Parallel {
    fn name(&self) -> &str {
        &self.0.name
    }
    async fn run(&self) -> Result<(), String> {
        let runs = self.0.steps.iter().map(|step| step.run());
        join_all(runs).await.into_iter().collect()
    }
}
