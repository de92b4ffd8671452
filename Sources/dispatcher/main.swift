import GovernanceCore

#if canImport(Glibc)
    import Glibc
#endif

exit(StageCommand.main(.dispatcher))
