#if canImport(Glibc)
import Glibc
#endif

/// Small numeric kernels on raw Float pointers, written so the optimizer turns them into SIMD code.
/// Every hot loop in training and merging goes through these.
public enum Vec {
    @inlinable @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD8<Float>()
        var k = 0
        while k + 8 <= n {
            let x = UnsafeRawPointer(a + k).loadUnaligned(as: SIMD8<Float>.self)
            let y = UnsafeRawPointer(b + k).loadUnaligned(as: SIMD8<Float>.self)
            acc += x * y
            k += 8
        }
        var s = acc.sum()
        while k < n { s += a[k] * b[k]; k += 1 }
        return s
    }

    /// y += alpha * x
    @inlinable @inline(__always)
    public static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        let va = SIMD8<Float>(repeating: alpha)
        var k = 0
        while k + 8 <= n {
            let xv = UnsafeRawPointer(x + k).loadUnaligned(as: SIMD8<Float>.self)
            var yv = UnsafeRawPointer(y + k).loadUnaligned(as: SIMD8<Float>.self)
            yv += va * xv
            UnsafeMutableRawPointer(y + k).storeBytes(of: yv, as: SIMD8<Float>.self)
            k += 8
        }
        while k < n { y[k] += alpha * x[k]; k += 1 }
    }

    /// out = a - b
    @inlinable @inline(__always)
    public static func difference(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int) {
        var k = 0
        while k + 8 <= n {
            let x = UnsafeRawPointer(a + k).loadUnaligned(as: SIMD8<Float>.self)
            let y = UnsafeRawPointer(b + k).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(out + k).storeBytes(of: x - y, as: SIMD8<Float>.self)
            k += 8
        }
        while k < n { out[k] = a[k] - b[k]; k += 1 }
    }

    /// Numerically stable logistic function.
    @inlinable @inline(__always)
    public static func sigmoid(_ x: Float) -> Float {
        if x >= 0 { return 1 / (1 + expf(-x)) }
        let e = expf(x)
        return e / (1 + e)
    }

    /// log(1 + exp(x)), stable for large |x|.
    @inlinable @inline(__always)
    public static func softplus(_ x: Float) -> Float {
        x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x))
    }
}
