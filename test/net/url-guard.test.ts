import { describe, expect, it } from "vitest";
import { InputError, StorageError } from "../../src/errors/index.ts";
import { addressRefusalReason, createUrlGuard } from "../../src/net/url-guard.ts";

/** Resolves every name from a fixed table: no test reaches a real resolver. */
function fakeResolver(table: Record<string, string[]>) {
  return async (hostname: string) => {
    const addresses = table[hostname];
    if (!addresses)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    return addresses;
  };
}

const resolve = fakeResolver({
  "public.example": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
  "mixed.example": ["93.184.215.14", "10.1.2.3"],
  "rebind.example": ["::ffff:127.0.0.1"],
  localhost: ["127.0.0.1", "::1"],
});

describe("addressRefusalReason", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.8.9.10", "loopback"],
    ["10.0.0.1", "private"],
    ["172.16.5.4", "private"],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "linkLocal"],
    ["100.64.0.1", "carrierGradeNat"],
    ["100.100.100.200", "carrierGradeNat"],
    ["0.0.0.0", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["255.255.255.255", "broadcast"],
    ["::1", "loopback"],
    ["::", "unspecified"],
    ["fe80::1", "linkLocal"],
    ["fc00::1", "uniqueLocal"],
    ["fd00:ec2::254", "uniqueLocal"],
    ["ff02::1", "multicast"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:10.0.0.1", "private"],
    ["::ffff:169.254.169.254", "linkLocal"],
    ["64:ff9b::a00:1", "rfc6052"],
  ])("refuses %s as %s", (address, range) => {
    expect(addressRefusalReason(address)).toContain(range);
  });

  it.each(["93.184.215.14", "8.8.8.8", "2606:4700::1111", "::ffff:93.184.215.14"])(
    "accepts public %s",
    (address) => {
      expect(addressRefusalReason(address)).toBeUndefined();
    },
  );
});

describe("createUrlGuard", () => {
  const guard = createUrlGuard({ resolve });

  it.each([
    "http://127.0.0.1/video.mp4",
    "http://[::1]:8080/x",
    "http://[::ffff:7f00:1]/x",
    "http://2130706433/x",
    "http://0x7f.1/x",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://localhost:3000/x",
    "https://mixed.example/x",
    "https://rebind.example/x",
    "http://192.168.0.10/x",
  ])("refuses %s", async (url) => {
    await expect(guard.check(new URL(url))).rejects.toMatchObject({ name: "StorageError", retryable: false });
  });

  it.each(["file:///etc/passwd", "ftp://public.example/x", "data:text/plain,hi", "gopher://public.example/"])(
    "refuses the scheme of %s",
    async (url) => {
      await expect(guard.check(new URL(url))).rejects.toThrow(/only http and https/);
    },
  );

  it("accepts a public host over http and https", async () => {
    await expect(guard.check(new URL("https://public.example/v.mp4"))).resolves.toBeUndefined();
    await expect(guard.check(new URL("http://93.184.215.14:8080/v.mp4"))).resolves.toBeUndefined();
  });

  it("names the redacted URL and the rule, and never the query string", async () => {
    const error = await guard
      .check(new URL("http://10.0.0.5/v.mp4?X-Amz-Signature=secret123"))
      .catch((e) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect(error.message).toContain("http://10.0.0.5/v.mp4?<redacted>");
    expect(error.message).toContain("private");
    expect(error.message).not.toContain("secret123");
  });

  it("raises an InputError naming the request field when the subject is a field", async () => {
    const error = await guard
      .check(new URL("http://127.0.0.1/image.png"), { subject: { field: "reference_image" } })
      .catch((e) => e);
    expect(error).toBeInstanceOf(InputError);
    expect(error.issues[0].field).toBe("reference_image");
    expect(error.message).toMatch(/reference_image: refusing .*loopback/);
  });

  it("reports an unknown host as not resolvable", async () => {
    await expect(guard.check(new URL("https://nowhere.example/x"))).rejects.toMatchObject({
      code: "url_unresolvable",
      retryable: false,
    });
  });

  describe("allowHosts", () => {
    const allowing = createUrlGuard({ resolve, allowHosts: ["127.0.0.1:8790", "localhost", "[::1]:9000"] });

    it("exempts a host:port entry on exactly that port", async () => {
      await expect(allowing.check(new URL("http://127.0.0.1:8790/v.mp4"))).resolves.toBeUndefined();
      await expect(allowing.check(new URL("http://127.0.0.1:8791/v.mp4"))).rejects.toThrow(/loopback/);
      await expect(allowing.check(new URL("http://127.0.0.1/v.mp4"))).rejects.toThrow(/loopback/);
    });

    it("exempts a bare host on every port", async () => {
      await expect(allowing.check(new URL("http://localhost:1234/v.mp4"))).resolves.toBeUndefined();
      await expect(allowing.check(new URL("https://LOCALHOST/v.mp4"))).resolves.toBeUndefined();
    });

    it("exempts a bracketed IPv6 host:port entry", async () => {
      await expect(allowing.check(new URL("http://[::1]:9000/v.mp4"))).resolves.toBeUndefined();
      await expect(allowing.check(new URL("http://[::1]:9001/v.mp4"))).rejects.toThrow(/loopback/);
    });

    it("still refuses other schemes on an allowed host", async () => {
      await expect(allowing.check(new URL("ftp://localhost/v.mp4"))).rejects.toThrow(/only http and https/);
    });

    it("exempts only the named host at connect time", () => {
      expect(() => allowing.checkAddress("localhost", "127.0.0.1")).not.toThrow();
      expect(() => allowing.checkAddress("other.example", "127.0.0.1")).toThrow(/loopback/);
    });
  });
});
