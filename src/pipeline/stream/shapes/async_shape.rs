// Pipes and filters: every input goes through the stages in order, one item at a time.

use async_trait::async_trait;

/// One filter: an input in, an output out, or the reason why not.
#[async_trait]
pub trait Stage<I: Send + 'static, O: Send + 'static>: Send + Sync {
    async fn process(&self, input: I) -> Result<O, String>;
}

/// Reads a number.
pub struct Parse;

#[async_trait]
impl Stage<String, u64> for Parse {
    async fn process(&self, input: String) -> Result<u64, String> {
        input
            .trim()
            .parse()
            .map_err(|_| format!("not a number: {input:?}"))
    }
}

/// Halves an even number.
pub struct Halve;

#[async_trait]
impl Stage<u64, u64> for Halve {
    async fn process(&self, input: u64) -> Result<u64, String> {
        match input % 2 {
            0 => Ok(input / 2),
            _ => Err(format!("{input} is odd")),
        }
    }
}

/// One input through both stages in order: an error stops this item, not the others.
pub async fn run_one(input: String) -> Result<u64, String> {
    let number = Parse.process(input).await?;
    Halve.process(number).await
}

/// The pipeline: each input in turn through `Parse` then `Halve`, one item at a time.
pub async fn run(inputs: Vec<String>) -> Vec<Result<u64, String>> {
    let mut outputs = Vec::new();
    for input in inputs {
        outputs.push(run_one(input).await);
    }
    outputs
}
