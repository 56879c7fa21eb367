use std::collections::HashMap;

/// What a constructor is given: here, only a name.
pub struct Config {
    pub name: String,
}

/// The product: the caller holds a `Box<dyn Device>`, never a `Light`.
pub trait Device {
    fn send(&self, message: &str) -> String;
}

pub struct Light {
    name: String,
}

impl Light {
    /// Making a light means talking to it first.
    pub fn connect(config: &Config) -> Result<Light, String> {
        handshake(config)?;
        Ok(Light {
            name: config.name.clone(),
        })
    }
}

/// Stands in for a round trip to the device; one called "offline" never answers.
fn handshake(config: &Config) -> Result<(), String> {
    match config.name.as_str() {
        "offline" => Err(format!("{} did not answer", config.name)),
        _ => Ok(()),
    }
}

impl Device for Light {
    fn send(&self, message: &str) -> String {
        format!("{}: {message}", self.name)
    }
}

pub type Made = Result<Box<dyn Device>, String>;
type Ctor = Box<dyn Fn(&Config) -> Made>;

/// Named constructors: code elsewhere can register new kinds.
pub struct Registry {
    ctors: HashMap<String, Ctor>,
}

impl Registry {
    pub fn register<F>(&mut self, kind: &str, ctor: F)
    where
        F: Fn(&Config) -> Made + 'static,
    {
        self.ctors.insert(kind.to_owned(), Box::new(ctor));
    }
    pub fn create(&self, kind: &str, config: &Config) -> Made {
        let ctor = self.ctors.get(kind).ok_or(format!("no kind {kind:?}"))?;
        ctor(config)
    }
}

pub fn home() -> Registry {
    let mut home = Registry {
        ctors: HashMap::new(),
    };
    home.register("light", |config| Ok(Box::new(Light::connect(config)?)));
    home
}
