use std::collections::HashMap;

use async_trait::async_trait;
use futures::future::BoxFuture;

/// What a constructor is given: here, only a name.
pub struct Config {
    pub name: String,
}

/// The product: the caller holds a `Box<dyn Device>`, never a `Light`.
#[async_trait]
pub trait Device: Send + Sync {
    async fn send(&self, message: &str) -> String;
}

pub struct Light {
    name: String,
}

impl Light {
    /// Making a light means talking to it first.
    pub async fn connect(config: &Config) -> Result<Light, String> {
        handshake(config).await?;
        Ok(Light {
            name: config.name.clone(),
        })
    }
}

/// Stands in for a round trip to the device; one called "offline" never answers.
async fn handshake(config: &Config) -> Result<(), String> {
    match config.name.as_str() {
        "offline" => Err(format!("{} did not answer", config.name)),
        _ => Ok(()),
    }
}

#[async_trait]
impl Device for Light {
    async fn send(&self, message: &str) -> String {
        format!("{}: {message}", self.name)
    }
}

pub type Made = Result<Box<dyn Device>, String>;
type Ctor = Box<dyn Fn(&Config) -> BoxFuture<'_, Made> + Send + Sync>;

/// Named constructors: code elsewhere can register new kinds.
pub struct Registry {
    ctors: HashMap<String, Ctor>,
}

impl Registry {
    pub fn register<F>(&mut self, kind: &str, ctor: F)
    where
        F: Fn(&Config) -> BoxFuture<'_, Made> + Send + Sync + 'static,
    {
        self.ctors.insert(kind.to_owned(), Box::new(ctor));
    }
    pub async fn create(&self, kind: &str, config: &Config) -> Made {
        let ctor = self.ctors.get(kind).ok_or(format!("no kind {kind:?}"))?;
        ctor(config).await
    }
}

pub fn home() -> Registry {
    let mut home = Registry {
        ctors: HashMap::new(),
    };
    home.register("light", |config| {
        Box::pin(async { Ok(Box::new(Light::connect(config).await?) as _) })
    });
    home
}
