// Asio, Asio.SSL and Beast compiled once for the whole program (BOOST_*_SEPARATE_COMPILATION is a
// public definition of ksync_common). Every other file includes only the declarations, which keeps
// a rebuild on 2 cores in seconds rather than minutes.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
