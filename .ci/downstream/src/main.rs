//! A crate with no async-trait dependency implements every public trait of async-patterns
//! through the re-export, and uses each one through the crate's own contexts.
use std::sync::Arc;

use async_patterns::actor::{self, Actor, Reply};
use async_patterns::factory::{Device, DeviceError};
use async_patterns::http::{HttpError, HttpGet};
use async_patterns::observer::{Observer, Subject};
use async_patterns::pipeline::plan::{self, Step, StepContext, StepError};
use async_patterns::pipeline::stream::{Pipeline, Stage, StageOptions};
use async_patterns::strategy::{Downloader, FetchStrategy, Fetched, NativeFetch, StaticDownloader};
use async_patterns::{BoxError, async_trait};

struct Echo;
#[async_trait]
impl HttpGet for Echo {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        Ok(format!("page {url}"))
    }
}

struct Reversed;
#[async_trait]
impl FetchStrategy for Reversed {
    fn name(&self) -> &str {
        "reversed"
    }
    async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        let mut out = Vec::new();
        for url in urls.iter().rev() {
            out.push(http.get(url).await);
        }
        out.reverse();
        out
    }
}
impl NativeFetch for Reversed {
    fn name(&self) -> &str {
        "reversed"
    }
    async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        FetchStrategy::fetch_all(self, http, urls).await
    }
}

struct Lamp;
#[async_trait]
impl Device for Lamp {
    fn name(&self) -> &str {
        "lamp"
    }
    fn kind(&self) -> &str {
        "light"
    }
    async fn send(&self, message: &str) -> Result<String, DeviceError> {
        Ok(format!("lamp got {message}"))
    }
}

struct Log;
#[async_trait]
impl Observer<String> for Log {
    async fn notify(&self, event: &String) -> Result<(), BoxError> {
        println!("observed {event}");
        Ok(())
    }
}

struct Hello;
#[async_trait]
impl Step for Hello {
    fn name(&self) -> &str {
        "hello"
    }
    async fn run(&self, _cx: &StepContext) -> Result<(), StepError> {
        Ok(())
    }
}

struct Double;
#[async_trait]
impl Stage<u32, u32> for Double {
    async fn process(&self, input: u32) -> Result<u32, BoxError> {
        Ok(input * 2)
    }
}

struct Counter(u64);
impl Actor for Counter {
    type Command = (u64, Reply<u64>);
    async fn handle(&mut self, (n, reply): Self::Command) {
        self.0 += n;
        reply.send(self.0);
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let urls = vec!["a".to_owned(), "b".to_owned()];
    let dynamic = Downloader::new(Arc::new(Echo), Arc::new(Reversed));
    assert_eq!(dynamic.download(&urls).await.unwrap().len(), 2);
    let fixed = StaticDownloader::new(Arc::new(Echo), Reversed);
    assert_eq!(fixed.download(&urls).await.unwrap().len(), 2);
    assert!(Lamp.send("on").await.unwrap().contains("on"));
    let subject = Subject::new();
    let _kept = subject.subscribe(Log);
    assert!(subject.notify(&"x".to_owned()).await.all_delivered());
    let morning = plan::sequence("morning", vec![Box::new(Hello)]);
    assert!(plan::run_traced(&morning).await.0.is_ok());
    use futures::StreamExt;
    let doubled = Pipeline::from_iter(1..=3u32).stage("double", StageOptions::ordered(2), Double);
    let out: Vec<u32> = doubled.into_stream().map(|r| r.unwrap()).collect().await;
    assert_eq!(out, [2, 4, 6]);
    let counter = actor::spawn("counter", 4, Counter(0));
    assert_eq!(counter.call(|reply| (5, reply)).await.unwrap(), 5);
    println!("every trait implemented through async_patterns::async_trait");
}
