import GovernanceCore
import SenderNetworking

#if canImport(Glibc)
    import Glibc
#endif

exit(SenderCommand.main(transport: URLSessionTransport()))
