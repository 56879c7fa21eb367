/// The fetcher: one page per call.
pub trait Http {
    fn get(&self, url: &str) -> Result<String, String>;
}

/// One result per URL, in the order the URLs were given.
pub type Fetched = Vec<Result<String, String>>;

/// The strategy: how a batch of URLs is fetched.
pub trait FetchStrategy {
    fn fetch_all(&self, http: &dyn Http, urls: &[String]) -> Fetched;
}

/// One request at a time, in order.
pub struct OneByOne;

impl FetchStrategy for OneByOne {
    fn fetch_all(&self, http: &dyn Http, urls: &[String]) -> Fetched {
        let mut out = Vec::new();
        for url in urls {
            out.push(http.get(url));
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

    pub fn download(&self, urls: &[String]) -> Fetched {
        self.strategy.fetch_all(&*self.http, urls)
    }
}
