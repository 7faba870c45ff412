//! Listening on every address, and telling the user where.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, TcpListener};

use rustix::net::{AddressFamily, SocketFlags, SocketType, sockopt};

/// How many pending connections the kernel may queue (capped by somaxconn).
const BACKLOG: i32 = 4096;

/// A listener on every address: one dual-stack IPv6 socket that accepts
/// IPv4 too, or an IPv4-only socket where IPv6 is unavailable. Returns the
/// listener and whether it accepts IPv6.
pub fn bind_all(port: u16) -> io::Result<(TcpListener, bool)> {
    match bind(AddressFamily::INET6, port) {
        Ok(listener) => Ok((listener, true)),
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::AFNOSUPPORT.raw_os_error()) => {
            Ok((bind(AddressFamily::INET, port)?, false))
        }
        Err(e) => Err(e),
    }
}

/// A listener on one address (`--bind`). An IPv6 address takes IPv6 only,
/// so `--bind 0.0.0.0 --bind ::` can be given together.
pub fn bind_one(ip: IpAddr, port: u16) -> io::Result<TcpListener> {
    let family = if ip.is_ipv6() {
        AddressFamily::INET6
    } else {
        AddressFamily::INET
    };
    let fd = rustix::net::socket_with(family, SocketType::STREAM, SocketFlags::CLOEXEC, None)?;
    sockopt::set_socket_reuseaddr(&fd, true)?;
    match ip {
        IpAddr::V6(ip) => {
            sockopt::set_ipv6_v6only(&fd, true)?;
            rustix::net::bind(&fd, &SocketAddrV6::new(ip, port, 0, 0))?;
        }
        IpAddr::V4(ip) => rustix::net::bind(&fd, &SocketAddrV4::new(ip, port))?,
    }
    rustix::net::listen(&fd, BACKLOG)?;
    let listener = TcpListener::from(fd);
    listener.set_nonblocking(true)?;
    Ok(listener)
}

fn bind(family: AddressFamily, port: u16) -> io::Result<TcpListener> {
    let fd = rustix::net::socket_with(family, SocketType::STREAM, SocketFlags::CLOEXEC, None)?;
    sockopt::set_socket_reuseaddr(&fd, true)?;
    if family == AddressFamily::INET6 {
        // Accept IPv4 as well, whatever the system default says.
        sockopt::set_ipv6_v6only(&fd, false)?;
        rustix::net::bind(&fd, &SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, port, 0, 0))?;
    } else {
        rustix::net::bind(&fd, &SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port))?;
    }
    rustix::net::listen(&fd, BACKLOG)?;
    let listener = TcpListener::from(fd);
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Every address of every interface the listener can be reached on, as
/// `(interface, address)`, IPv4 first.
pub fn reachable(port: u16, ipv6: bool) -> Vec<(String, SocketAddr)> {
    let mut out: Vec<(String, SocketAddr)> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter(|iface| ipv6 || iface.ip().is_ipv4())
        .map(|iface| {
            let addr = match iface.ip() {
                IpAddr::V6(ip) => {
                    // Link-local addresses need their interface to be usable.
                    let scope = if iface.is_link_local() {
                        iface.index.unwrap_or(0)
                    } else {
                        0
                    };
                    SocketAddr::V6(SocketAddrV6::new(ip, port, 0, scope))
                }
                ip => SocketAddr::new(ip, port),
            };
            (iface.name, addr)
        })
        .collect();
    out.sort_by_key(|(name, addr)| (addr.is_ipv6(), name.clone(), addr.ip()));
    if out.is_empty() {
        out.push((
            "any".into(),
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port),
        ));
    }
    out
}
