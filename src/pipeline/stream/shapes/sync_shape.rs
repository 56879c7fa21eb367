// Pipes and filters: every input goes through the stages in order, one item at a time.

/// One filter: an input in, an output out, or the reason why not.
pub trait Stage<I, O> {
    fn process(&self, input: I) -> Result<O, String>;
}

/// Reads a number.
pub struct Parse;

impl Stage<String, u64> for Parse {
    fn process(&self, input: String) -> Result<u64, String> {
        input
            .trim()
            .parse()
            .map_err(|_| format!("not a number: {input:?}"))
    }
}

/// Halves an even number.
pub struct Halve;

impl Stage<u64, u64> for Halve {
    fn process(&self, input: u64) -> Result<u64, String> {
        match input % 2 {
            0 => Ok(input / 2),
            _ => Err(format!("{input} is odd")),
        }
    }
}

/// One input through both stages in order: an error stops this item, not the others.
pub fn run_one(input: String) -> Result<u64, String> {
    let number = Parse.process(input)?;
    Halve.process(number)
}

/// The pipeline: each input in turn through `Parse` then `Halve`, one item at a time.
pub fn run(inputs: Vec<String>) -> Vec<Result<u64, String>> {
    let mut outputs = Vec::new();
    for input in inputs {
        outputs.push(run_one(input));
    }
    outputs
}
