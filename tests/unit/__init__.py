"""Fast tests of pure logic: no cluster, no network."""
