//! A static file server on loopback, as a registry's host or CDN would be,
//! that a test can turn hostile: replace a file, stream one forever, drip it
//! slowly, or demand a bearer token.

use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Write},
    net::{TcpListener, TcpStream},
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

#[derive(Default)]
pub struct Behaviour {
    /// The folder served.
    pub root: PathBuf,
    /// Required `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// URL path → body served instead of the file.
    pub replace: HashMap<String, Vec<u8>>,
    /// URL paths starting with one of these stream bytes forever.
    pub endless: Vec<String>,
    /// URL paths starting with this are sent 1 KiB at a time, with this pause.
    pub slow: Option<(String, Duration)>,
    /// Paths requested, in order.
    pub requests: Vec<String>,
}

pub struct StaticServer {
    pub port: u16,
    behaviour: Arc<Mutex<Behaviour>>,
}

impl StaticServer {
    pub fn start(root: PathBuf) -> StaticServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let behaviour = Arc::new(Mutex::new(Behaviour { root, ..Behaviour::default() }));
        let shared = behaviour.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let behaviour = shared.clone();
                std::thread::spawn(move || serve(stream, &behaviour));
            }
        });
        StaticServer { port, behaviour }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn set(&self, change: impl FnOnce(&mut Behaviour)) {
        change(&mut self.behaviour.lock().expect("behaviour"));
    }

    pub fn requests(&self) -> Vec<String> {
        self.behaviour.lock().expect("behaviour").requests.clone()
    }
}

fn serve(stream: TcpStream, behaviour: &Mutex<Behaviour>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut first = String::new();
    if reader.read_line(&mut first).is_err() {
        return;
    }
    let mut authorization = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("authorization")
        {
            authorization = Some(value.trim().to_owned());
        }
    }
    let path = first.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let mut out = stream;
    let (body, endless, slow) = {
        let mut b = behaviour.lock().expect("behaviour");
        b.requests.push(path.clone());
        if let Some(token) = &b.token
            && authorization.as_deref() != Some(&format!("Bearer {token}"))
        {
            let _ = out.write_all(b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            return;
        }
        let endless = b.endless.iter().any(|p| path.starts_with(p.as_str()));
        let slow = b.slow.as_ref().filter(|(p, _)| path.starts_with(p.as_str())).map(|(_, d)| *d);
        let body = match b.replace.get(&path) {
            Some(body) => Some(body.clone()),
            None => {
                let rel = path.trim_start_matches('/');
                let safe = !rel.split('/').any(|s| s == ".." || s.is_empty());
                let file = b.root.join(rel);
                if safe { std::fs::read(file).ok() } else { None }
            }
        };
        (body, endless, slow)
    };
    if endless {
        let _ = out.write_all(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n");
        let chunk = vec![b'x'; 64 * 1024];
        while out.write_all(&chunk).is_ok() {}
        return;
    }
    let Some(body) = body else {
        let _ = out.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        return;
    };
    let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
    if out.write_all(head.as_bytes()).is_err() {
        return;
    }
    match slow {
        Some(pause) => {
            for chunk in body.chunks(1024) {
                if out.write_all(chunk).and_then(|_| out.flush()).is_err() {
                    return;
                }
                std::thread::sleep(pause);
            }
        }
        None => {
            let _ = out.write_all(&body);
        }
    }
}
