//! A trait with a native `async fn` is not dyn compatible: no `dyn Fetch`.
trait Fetch {
    async fn fetch(&self, url: &str) -> String;
}

fn fetch_all(_fetchers: &[Box<dyn Fetch>]) {}

fn main() {}
