use async_trait::async_trait;

/// The fetcher: one page per call.
#[async_trait]
pub trait Http: Send + Sync {
    async fn get(&self, url: &str) -> Result<String, String>;
}

/// One result per URL, in the order the URLs were given.
pub type Fetched = Vec<Result<String, String>>;

/// The strategy: how a batch of URLs is fetched.
#[async_trait]
pub trait FetchStrategy: Send + Sync {
    async fn fetch_all(&self, http: &dyn Http, urls: &[String]) -> Fetched;
}

/// One request at a time, in order.
pub struct OneByOne;

#[async_trait]
impl FetchStrategy for OneByOne {
    async fn fetch_all(&self, http: &dyn Http, urls: &[String]) -> Fetched {
        let mut out = Vec::new();
        for url in urls {
            out.push(http.get(url).await);
        }
        out
    }
}

/// The context: holds one strategy, delegates to it, and can swap it.
pub struct Downloader {
    pub http: Box<dyn Http>,
    pub strategy: Box<dyn FetchStrategy>,
}

impl Downloader {
    pub fn set_strategy(&mut self, strategy: Box<dyn FetchStrategy>) {
        self.strategy = strategy;
    }

    pub async fn download(&self, urls: &[String]) -> Fetched {
        self.strategy.fetch_all(&*self.http, urls).await
    }
}
