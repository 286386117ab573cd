#include "daemon/app.hpp"

#include <iostream>

int main(int argc, char** argv) {
    return ksync::app::run(argc, argv, std::cout, std::cerr);
}
