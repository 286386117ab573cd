#include "tests/emulator/php.hpp"

#include <gtest/gtest.h>

namespace ksync::emulator::php {
namespace {

TEST(php, urldecode_turns_plus_into_space_and_keeps_bad_escapes) {
    EXPECT_EQ(urldecode("a+b%2Bc%2fd"), "a b+c/d");
    EXPECT_EQ(urldecode("100%"), "100%");
    EXPECT_EQ(urldecode("%zz%4"), "%zz%4");
}

TEST(php, parse_str_understands_php_array_syntax) {
    vars v;
    parse_str("a[]=1&a[]=2&b%5B0%5D=x&b%5B1%5D=y&c[5]=q&c[]=r&n[1][parent]=child&plain=1&plain=2",
              v);
    EXPECT_EQ(v.find("a")->list(), (std::vector<std::string>{"1", "2"}));
    EXPECT_EQ(v.find("b")->list(), (std::vector<std::string>{"x", "y"}));
    const auto* c = v.find("c");
    ASSERT_TRUE(c->is_array);
    EXPECT_EQ(c->items[1].first, std::vector<std::string>{"6"});  // [] after [5] is 6
    const auto* n = v.find("n");
    EXPECT_EQ(n->items[0].first, (std::vector<std::string>{"1", "parent"}));
    EXPECT_EQ(n->items[0].second, "child");
    EXPECT_EQ(v.get("plain"), "2");  // the last one wins
}

TEST(php, parse_str_mangles_dots_and_spaces_in_top_level_names) {
    vars v;
    parse_str("a.b=1&c+d=2&e[f.g]=3", v);
    EXPECT_EQ(v.get("a_b"), "1");
    EXPECT_EQ(v.get("c_d"), "2");
    EXPECT_EQ(v.find("e")->items[0].first, std::vector<std::string>{"f.g"});
}

TEST(php, parse_str_only_if_unset_keeps_existing_keys) {
    vars v;
    v.set_scalar("a", "old");
    parse_str("a=new&b=2", v, true);
    EXPECT_EQ(v.get("a"), "old");
    EXPECT_EQ(v.get("b"), "2");
}

TEST(php, empty_treats_zero_string_as_empty) {
    vars v;
    parse_str("zero=0&blank=&one=1&arr[]=", v);
    EXPECT_TRUE(v.empty("zero"));
    EXPECT_TRUE(v.empty("blank"));
    EXPECT_TRUE(v.empty("missing"));
    EXPECT_FALSE(v.empty("one"));
    EXPECT_FALSE(v.empty("arr"));
}

TEST(php, router_argument_filter_and_clean) {
    EXPECT_TRUE(uri_argument_allowed("1,2,3"));
    EXPECT_TRUE(uri_argument_allowed("ABC-123-45678"));
    EXPECT_TRUE(uri_argument_allowed("a b~%.:=_-"));
    EXPECT_FALSE(uri_argument_allowed("a@b"));
    EXPECT_FALSE(uri_argument_allowed("a/b"));
    EXPECT_FALSE(uri_argument_allowed("a+b"));
    EXPECT_EQ(clean("1%2C2"), "12C2");
    EXPECT_EQ(clean("a.b@c d"), "abcd");
    EXPECT_EQ(clean("-1,2:x_y"), "-1,2:x_y");
}

TEST(php, numeric_and_int_casts) {
    EXPECT_TRUE(is_numeric("12"));
    EXPECT_TRUE(is_numeric("-1"));
    EXPECT_TRUE(is_numeric("1.5e3"));
    EXPECT_FALSE(is_numeric("1,2"));
    EXPECT_FALSE(is_numeric("ABC-1"));
    EXPECT_FALSE(is_numeric(""));
    EXPECT_EQ(to_int(" 42abc"), 42);
    EXPECT_EQ(to_int("abc"), 0);
    EXPECT_EQ(to_int("-7"), -7);
}

TEST(php, json_object_gives_scalar_members) {
    auto v = json_object(
        R"({"apikey":"k","salt":12345,"signature":"a\/b+c=","flag":true,"n":null,"x":{"y":1}})");
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(v->get("apikey"), "k");
    EXPECT_EQ(v->get("salt"), "12345");
    EXPECT_EQ(v->get("signature"), "a/b+c=");
    EXPECT_EQ(v->get("flag"), "1");
    EXPECT_FALSE(v->has("x"));
    EXPECT_FALSE(json_object("[1,2]").has_value());
    EXPECT_FALSE(json_object("{\"a\":").has_value());
}

}  // namespace
}  // namespace ksync::emulator::php
